"""The district's defaults, seeded on first start and editable through the API afterwards.

Duties per level are quoted from the plan (城发〔2018〕26号, 主要职责 and 工作任务).
The category → department map is the bureau's usual division of enforcement
duties; the plan leaves it to the district (BRIEF.md: "the mapping is data").
"""

DEPARTMENTS = [
    # code, name, name_en
    ("env_bureau", "区生态环境局", "District Ecology and Environment Bureau"),
    ("housing", "区住房和城乡建设局", "District Housing and Urban-Rural Development Bureau"),
    ("urban_management", "区城市管理局", "District Urban Management Bureau"),
    ("traffic_police", "区交警大队", "District Traffic Police Brigade"),
    ("agriculture", "区农业农村局", "District Agriculture and Rural Affairs Bureau"),
    ("industry", "区工业和信息化局", "District Industry and Information Technology Bureau"),
    ("development_reform", "区发展和改革局", "District Development and Reform Bureau"),
    ("water", "区水务局", "District Water Affairs Bureau"),
    ("market_regulation", "区市场监督管理局", "District Market Regulation Bureau"),
    ("natural_resources", "区自然资源局", "District Natural Resources Bureau"),
]

CATEGORIES = [
    # code, name, name_en, group, first level to handle it, department
    # 专项攻坚任务 (责任清单, 附件3)
    ("scattered_polluting_enterprise", "散乱污企业", "Scattered, disorderly and polluting enterprise", "campaign", 3, "industry"),
    ("coal_ban", "禁煤区散煤及清洁取暖", "Coal in the coal-ban zone, clean winter heating", "campaign", 3, "development_reform"),
    ("nonroad_machinery", "非道路移动机械", "Non-road mobile machinery", "campaign", 3, "env_bureau"),
    ("construction_dust", "建筑工地扬尘", "Construction-site dust", "campaign", 4, "housing"),
    ("road_dust", "道路扬尘", "Road dust", "campaign", 4, "urban_management"),
    ("voc_emissions", "挥发性有机物排放", "VOC emissions", "campaign", 3, "env_bureau"),
    ("sanitation", "城乡环境卫生", "Urban and rural sanitation", "campaign", 4, "urban_management"),
    ("catering_fumes", "餐饮油烟", "Catering fumes", "campaign", 4, "urban_management"),
    ("industrial_emissions", "工业污染排放", "Industrial emissions", "campaign", 3, "env_bureau"),
    ("water_pollution", "水污染(地表水、地下水、饮用水、黑臭水体、污水)", "Water pollution (surface, ground, drinking, black-odorous, waste water)", "campaign", 3, "water"),
    ("soil_pollution", "土壤污染", "Soil pollution", "campaign", 2, "natural_resources"),
    # 巡查常见问题 (五级网格工作任务)
    ("material_piling", "废料物料乱堆乱放", "Waste and materials piled anywhere", "field", 4, "urban_management"),
    ("garbage_dumping", "乱倒垃圾", "Garbage dumped", "field", 4, "urban_management"),
    ("open_burning", "露天焚烧垃圾和秸秆", "Open burning of garbage or straw", "field", 4, "agriculture"),
    ("coal_use", "使用煤制品和燃煤设施", "Coal products or coal-burning stoves in use", "field", 4, "development_reform"),
    ("black_smoke_vehicle", "冒黑烟车辆", "Black-smoke vehicle", "field", 2, "traffic_police"),
    ("open_welding_spraying", "露天电焊和喷漆", "Open-air welding or spray painting", "field", 4, "env_bureau"),
    ("six_100_measures", "施工场地未落实“六个百分百”", "Construction site without the six 100% dust measures", "field", 4, "housing"),
    ("equipment_not_running", "环保设施运转不正常", "Pollution-control equipment not running", "field", 3, "env_bureau"),
    ("other", "其他环境问题", "Other environmental problem", "field", 4, "env_bureau"),
    # 市级平台转办 (instructions pushed by the city platform)
    ("air_quality_exceedance", "监测点位附近空气质量超标", "Air-quality exceedance near a monitoring station", "city", 2, "env_bureau"),
    ("emergency_order", "重污染天气及突发环境事件应急指令", "Heavy-pollution or sudden-incident emergency order", "city", 2, "env_bureau"),
    ("prominent_problem", "市级反馈突出环境问题", "Prominent problem fed back by the city", "city", 2, "env_bureau"),
]

RESPONSIBILITIES = {
    1: [
        "对全区环保攻坚任务的完成、环境突出问题整改和环保网格化监管体系建设负总责",
        "协调解决本区重大环境监管问题",
        "根据全区环保工作形势组织开展各类环保重点攻坚专项行动",
    ],
    2: [
        "对本辖区环保攻坚任务的完成、环境突出问题整改和环保网格化监管体系建设负责",
        "做好辖区内环境突出问题的巡查、发现、处置工作,对超出本级网格职权范围的环境问题及时上报和配合处置",
        "对平台发布的指令,特别是市级平台转办的监测点附近空气质量超标问题,迅速回应、及时处置,处置完毕后汇总上报销号",
        "负责下级网格体系的建立、运行,开展三级网格的季度、年度考核,指导完善污染源台账",
    ],
    3: [
        "承担本辖区生态环境保护的主要责任,开展巡查、发现、处置、报告、配合整改等工作",
        "定期排查,摸清底数,完善各类污染源台账,并做好信息上报工作",
        "确定四级网格和五级网格点,建立四级、五级网格的环境监管公示牌",
        "开展对下级具体网格监管人员的月度考核,根据考核结果兑现工作补贴",
    ],
    4: [
        "对所负责片区开展每日巡查",
        "发现的环境问题能自行处置的及时处置,能通过政策引导、说服教育制止的及时制止,需要协调处置的及时上报并配合处置",
        "接收群众举报,积极查实,确实存在的及时处置并回复,不属环境问题的向群众做好解释",
    ],
    5: [
        "监督本单位区域的环境保护工作",
        "对餐饮油烟、物料乱堆乱放、乱倒垃圾、露天焚烧、燃煤、冒黑烟车辆、露天电焊喷漆、工地未落实“六个百分百”、环保设施运转不正常等问题劝导制止并及时上报",
        "保障污染治理设备正常运行,建立污染源台账,对职工开展环保知识培训",
    ],
}

# Kinds of pollution source in the ledger (污染源台账).
SOURCE_KINDS = {
    "industrial_plant": "工业企业",
    "boiler": "锅炉",
    "catering": "餐饮单位",
    "construction_site": "建筑工地",
    "vehicle_yard": "车辆停放场",
    "coal_store": "煤场/煤炭经营点",
    "material_yard": "物料堆场",
    "repair_spraying": "汽修喷涂",
    "gas_station": "加油站",
    "livestock_farm": "畜禽养殖",
    "other": "其他",
}

SOURCE_STATUSES = {
    "operating": "正常运行",
    "rectifying": "整改中",
    "suspended": "停产",
    "closed": "已关停",
}
