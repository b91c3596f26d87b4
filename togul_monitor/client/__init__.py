from togul_monitor.client.httpx_cli import defer_httpx_cli

defer_httpx_cli()  # before any module of this package imports httpx
