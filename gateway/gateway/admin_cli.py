"""`envgrid-gateway api-keys create|list|revoke` and `envgrid-gateway accounts create`."""
from __future__ import annotations

import argparse
import getpass
import json
import sys

from servicekit.db import Database

from . import credentials


def keys_command(settings, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="envgrid-gateway api-keys")
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create")
    create.add_argument("--subject", required=True)
    create.add_argument("--role", action="append", required=True, dest="roles")
    create.add_argument("--grid", action="append", default=[], dest="grids")
    create.add_argument("--note", default="")
    sub.add_parser("list")
    revoke = sub.add_parser("revoke")
    revoke.add_argument("key_id")
    args = parser.parse_args(argv)
    db = Database(settings.database_url)
    with db.transaction() as session:
        if args.action == "create":
            result = credentials.create_key(session, args.subject, args.roles, args.grids, args.note, "cli")
            print(json.dumps(result, ensure_ascii=False))
            print("store the key now: it is not shown again", file=sys.stderr)
        elif args.action == "list":
            for item in credentials.list_keys(session):
                print(json.dumps(item, ensure_ascii=False))
        else:
            print(json.dumps(credentials.revoke_key(session, args.key_id)))
    return 0


def accounts_command(settings, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="envgrid-gateway accounts")
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create")
    create.add_argument("--username", required=True)
    create.add_argument("--role", action="append", required=True, dest="roles")
    create.add_argument("--grid", action="append", default=[], dest="grids")
    create.add_argument("--person-id")
    create.add_argument("--display-name")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    args = parser.parse_args(argv)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    if len(password) < 12:
        print("the password needs at least 12 characters", file=sys.stderr)
        return 2
    with Database(settings.database_url).transaction() as session:
        result = credentials.create_account(session, {
            "username": args.username, "password": password, "roles": args.roles, "grids": args.grids,
            "person_id": args.person_id, "display_name": args.display_name})
    print(json.dumps(result, ensure_ascii=False))
    return 0
