from servicekit.migrate import run_env

run_env()
