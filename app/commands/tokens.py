"""The ``lamina token`` and ``lamina invite`` verbs: sign a token, or an invite link."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from lamina.auth.errors import PermissionStringError
from lamina.auth.invite import check_server_url
from lamina.auth.keys import ALGORITHMS
from lamina.auth.tokens import DEFAULT_PERMISSIONS, parse_ttl
from lamina.commands.common import add_data_option, data_dir_from

if TYPE_CHECKING:
    from lamina.server.admin import TokenRequest

NO_COLLAB = "none"


def register(subparsers: Any) -> None:
    """Add ``token`` and ``invite`` to the ``lamina`` parser."""
    from lamina.commands.common import add_common_options

    token = subparsers.add_parser(
        "token",
        help="print a signed token for one document",
        description=(
            "Print a signed token (JWT) for one document. The host's key pair is created in "
            "the data directory on first use; the server verifies with its public key."
        ),
    )
    _add_token_options(token)
    add_common_options(token)
    token.set_defaults(func=run_token)

    invite = subparsers.add_parser(
        "invite",
        help="print an invite link (server address and token) for one document",
        description="Print a lamina://join link that opens one document on a server.",
    )
    invite.add_argument(
        "--server",
        required=True,
        metavar="URL",
        help="the server's address as reviewers reach it, e.g. ws://192.168.1.20:8765",
    )
    _add_token_options(invite)
    add_common_options(invite)
    invite.set_defaults(func=run_invite)


def _add_token_options(parser: argparse.ArgumentParser) -> None:
    add_data_option(parser)
    parser.add_argument("--doc", required=True, metavar="ID", help="the document id")
    parser.add_argument("--layer", default="", metavar="L", help="the layer (default: '')")
    parser.add_argument("--user", default=None, metavar="U", help="user_id stored on records")
    parser.add_argument(
        "--name", default=None, metavar="NAME", help="forced creator name (creator_name claim)"
    )
    parser.add_argument(
        "--permissions",
        default=",".join(DEFAULT_PERMISSIONS),
        metavar="LIST",
        help="comma-separated: read-document, write, download, cover-image, or all "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--collab",
        action="append",
        default=None,
        metavar="PERM",
        help="a collaboration permission content-type:action:scope, e.g. "
        "annotations:edit:self; repeat (or separate with commas) for more; "
        "'none' for an empty list (nothing visible); "
        "without --collab the claim is left out (no restrictions beyond --permissions)",
    )
    parser.add_argument(
        "--group", default=None, metavar="G", help="default_group: the group of new records"
    )
    parser.add_argument(
        "--view-layer",
        action="append",
        default=[],
        metavar="L",
        help="another layer this token may view read-only; repeat for more; '*' for all",
    )
    parser.add_argument("--ttl", default="7d", help="lifetime: 7d, 12h, 30m, 3600s (default 7d)")
    parser.add_argument("--jti", default=None, metavar="ID", help="token id (default: random)")
    parser.add_argument(
        "--algorithm",
        choices=ALGORITHMS,
        default=None,
        help="signing algorithm of a new key pair (default ES256; an existing key "
        "signs with its own)",
    )


def _collab_from(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    # "a,b" is two strings: a comma in a group or user name would more likely be a typo.
    values = [item.strip() for value in values for item in value.split(",") if item.strip()]
    if not values:
        raise PermissionStringError("", "--collab needs a permission string, or none")
    if NO_COLLAB in values:
        if len(values) > 1:
            raise PermissionStringError(
                NO_COLLAB, "--collab none cannot be combined with other --collab values"
            )
        return []
    return values  # each is checked by HostAdmin before any key is made


def _request_from(args: argparse.Namespace) -> TokenRequest:
    from lamina.server.admin import TokenRequest

    collab = _collab_from(args.collab)
    return TokenRequest(
        document_id=args.doc,
        permissions=tuple(item.strip() for item in args.permissions.split(",") if item.strip()),
        layer=args.layer,
        user_id=args.user,
        creator_name=args.name,
        collaboration_permissions=None if collab is None else tuple(collab),
        default_group=args.group,
        view_layers=tuple(args.view_layer),
        ttl=parse_ttl(args.ttl),
        jti=args.jti,
    )


def run_token(args: argparse.Namespace) -> int:
    """Print a signed token."""
    from lamina.server.admin import HostAdmin

    request = _request_from(args)
    with HostAdmin(data_dir_from(args)) as admin:
        print(admin.mint_token(request, algorithm=args.algorithm))
    return 0


def run_invite(args: argparse.Namespace) -> int:
    """Print an invite link."""
    from lamina.server.admin import HostAdmin

    check_server_url(args.server)
    request = _request_from(args)
    with HostAdmin(data_dir_from(args)) as admin:
        print(admin.invite(args.server, request, algorithm=args.algorithm))
    return 0
