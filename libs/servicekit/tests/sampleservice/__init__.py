"""A tiny service built on the kit, used only by the kit's own tests.

It has what a real service has (tables, a route, a handler, migrations, a worker)
and a handler whose behaviour a test can steer: slow it down to kill a worker
mid-handler, or block a job so that it fails until unblocked.
"""
