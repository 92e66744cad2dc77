"""Chinese name material for the demonstration district: places, roads, units and people.

Plain lists; `generate` draws from them with a seeded random generator. Place and
unit names are made up from common characters; they are not a survey of the real
晋城市城区.
"""
from __future__ import annotations

# The eight level-2 units in the plan's order: (name, kind, short name used in unit names).
LEVEL2 = (
    ("东街街道", "subdistrict", "东街"),
    ("西街街道", "subdistrict", "西街"),
    ("南街街道", "subdistrict", "南街"),
    ("北街街道", "subdistrict", "北街"),
    ("矿区街道", "subdistrict", "矿区"),
    ("钟家庄街道", "subdistrict", "钟家庄"),
    ("西上庄街道", "subdistrict", "西上庄"),
    ("北石店镇", "town", "北石店"),
)

# What lies beyond the district's border on every side.
OUTSIDE = "泽州县界"

# --- people -------------------------------------------------------------------------------
# Common surnames, most frequent first (Shanxi has many 王, 李, 张, 郭, 赵, 牛, 申, 原, 靳).
SURNAMES = (
    "王李张刘赵郭杨陈牛申原靳武田贾韩马孙高梁段秦宋吕史常冯程崔卫焦侯栗畅"
    "周吴徐胡朱林何罗郑谢唐董曹袁许邓苏卢魏薛姚范石阎白康毛孟乔"
)
# Characters for given names; one or two of them make a name.
GIVEN_MALE = "建国军伟强磊勇志明杰涛斌鹏超刚平辉亮军华林波宇晓东海峰俊文斌浩振兴旭鑫晋龙"
GIVEN_FEMALE = "芳娟丽敏静燕艳霞玲红琴英萍梅秀慧莉婷倩雪晶颖琳洁茹凤兰云佳"

# Job titles by the level and kind of the unit.
TITLES_DISTRICT = {"chief": ("区委书记", "区长"), "deputy_chief": ("区委副书记", "副区长")}
TITLES_LEVEL2 = {
    "subdistrict": {"leader": ("街道党工委书记", "街道办事处主任"),
                    "deputy_leader": ("街道党工委副书记", "街道办事处副主任", "街道办事处副主任"),
                    "cadre": ("街道党工委委员", "街道办事处干部", "街道办事处科员")},
    "town": {"leader": ("镇党委书记", "镇长"),
             "deputy_leader": ("镇党委副书记", "副镇长", "副镇长"),
             "cadre": ("镇党委委员", "镇政府干部", "镇人大副主席")},
}
TITLES_LEVEL3 = {
    "community": {"leader": ("社区党委书记", "社区居委会主任", "驻社区第一书记"),
                  "one_leader": "社区党委书记、居委会主任",
                  "deputy_leader": ("社区居委会委员", "社区党委委员")},
    "village": {"leader": ("村党支部书记", "村委会主任", "驻村第一书记"),
                "one_leader": "村党支部书记、村委会主任",
                "deputy_leader": ("村委委员", "村党支部委员")},
}
TITLES_GRID_MEMBER = ("专职网格员", "专职网格员", "兼职网格员")
TITLES_UNIT = {
    "agency": ("负责人", "办公室主任", "分管负责人"),
    "enterprise": ("法定代表人", "总经理", "负责人", "经营者"),
    "social_organisation": ("会长", "负责人", "理事长"),
    "residential_compound": ("物业经理", "物业负责人", "业委会主任"),
    "market": ("市场负责人", "市场管理办主任"),
    "construction_site": ("项目经理", "项目负责人"),
    "other": ("负责人", "管理员"),
}

# Mobile number prefixes in use on the mainland (all satisfy levels.valid_phone).
MOBILE_PREFIXES = ("130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151",
                   "152", "153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177",
                   "178", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191", "198", "199")

# --- places ---------------------------------------------------------------------------------
# Communities: two characters plus 社区 ("凤台社区").
COMMUNITY_FIRST = "凤书文兴和康景泰华锦新建阳明福瑞祥安春秀晓青泽红金银紫润嘉永宏矿颐育丰晨"
COMMUNITY_SECOND = "台院昌华苑园城平宁泉馨丰晖光湖山河桥坊源秀盛兴荣福康祥悦林庭汇"
# Villages: "司徒村", "东沟村", "刘庄村", "柳树岭村".
VILLAGE_DIRECTION = "东西南北上下前后大小"
VILLAGE_NATURE = "石柳杨桃枣泉白黄青马牛龙凤金花松柏槐杏梨榆苇"
VILLAGE_LANDFORM = ("沟", "岭", "坡", "庄", "峪", "店", "寨", "窑", "头", "底", "河", "坪", "掌", "洼", "庙")
VILLAGE_SPECIAL = ("司徒", "岗头", "刘家川", "晓庄", "鸿春", "上辇", "下辇", "大张", "小张", "苗匠",
                   "耿窑", "孙窑", "叶家河", "七岭", "坡底", "东吕匠", "西吕匠", "阎庄", "王台", "后河")

ROADS = ("泽州路", "凤台街", "书院街", "建设路", "文昌街", "红星街", "中原街", "太行路", "黄华街", "白水街",
         "西环路", "东环路", "晋韩路", "兰花路", "金匠路", "景德桥路", "前进路", "新市街", "古书院路", "凤鸣路",
         "景西路", "星河路", "钟秀路", "府城路", "西大街", "东大街", "南大街", "北大街", "迎宾街", "滨河路",
         "矿区路", "煤机路", "北石店路", "钟家庄路", "西上庄路", "颐翠路", "凤城路", "康乐街", "和平街", "民主街",
         "育才路", "工人街", "晋城大道", "丹河路", "白马寺路", "红旗街", "学院路", "花园街", "司徒路", "香山路")
RURAL_FEATURES = ("白水河", "书院河", "丹河支渠", "晋韩线", "村村通公路", "乡道", "东山沟", "西坡林地", "铁路线",
                  "南山梁", "引水渠", "耕地防护林", "晋阳高速", "太焦铁路")

# --- grid points (level 5) ------------------------------------------------------------------
BRAND_FIRST = "宏鑫泰恒兴隆盛昌瑞丰嘉华润通诚信金福安顺利祥和晋凤佳美永新宇天海博聚汇源达"
BRAND_SECOND = "达源泰兴盛昌丰华通诚信福安顺利祥和远腾辉程业创发德鼎力旺升嘉隆鑫"
# (trade, whether such a unit usually occupies a yard drawn as a polygon)
ENTERPRISE_TRADES = (
    ("餐饮有限公司", False), ("饭店", False), ("火锅店", False), ("烧烤店", False), ("面馆", False),
    ("汽车维修有限公司", False), ("汽修厂", False), ("洗车行", False), ("加油站", False), ("干洗店", False),
    ("商贸有限公司", False), ("超市", False), ("宾馆", False), ("印务有限公司", False), ("家具厂", False),
    ("建材有限公司", False), ("物流有限公司", False), ("食品有限公司", False), ("医药连锁店", False),
    ("煤业有限公司", True), ("铸造有限公司", True), ("混凝土有限公司", True), ("机械制造有限公司", True),
    ("化工有限公司", True), ("热力有限公司", True), ("砖厂", True), ("储煤场", True),
)
AGENCY_DEPARTMENTS = ("人民法院", "人民检察院", "公安分局", "市场监督管理局", "税务局", "住房和城乡建设局",
                      "自然资源局", "农业农村局", "教育局", "卫生健康和体育局", "文化和旅游局", "交通运输局",
                      "水务局", "城市管理局", "应急管理局", "民政局", "人力资源和社会保障局", "统计局",
                      "退役军人事务局", "医疗保障局", "林业局", "审计局", "司法局", "财政局")
# Templates for agencies placed in a village/community; {l2} is the level-2 short name, {l3} the level-3 one.
AGENCY_LOCAL = ("{l3}小学", "{l3}幼儿园", "{l3}卫生服务站", "{l3}社区服务中心", "{l2}派出所{l3}警务室",
                "{l2}供电所", "{l2}中心学校", "{l2}卫生院", "{l2}财政所", "{l3}邮政所")
SOCIAL_ORGANISATIONS = ("{l3}老年人协会", "{l3}志愿服务队", "{brand}养老服务中心", "{brand}职业培训学校",
                        "城区{brand}商会", "{brand}社会工作服务中心", "{l3}红白理事会", "{brand}慈善协会")
COMPOUND_SUFFIXES = ("小区", "苑", "花园", "家园", "新村", "佳苑", "公寓", "雅居", "名门", "华庭")
MARKET_KINDS = ("建材市场", "蔬菜批发市场", "小商品市场", "二手车市场", "水果批发市场", "综合市场")
CONSTRUCTION_PROJECTS = ("住宅", "商业综合体", "棚户区改造", "学校扩建", "安置房", "医院门诊楼", "厂房",
                         "道路改造", "老旧小区改造", "雨污分流")
OTHERS = ("{l3}垃圾中转站", "{road}公共停车场", "{l3}公共厕所", "{brand}废品回收站", "{l3}污水提升泵站")
