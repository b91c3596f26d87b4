"""A Togul-compatible server for tests, the demo and local work (`togul-monitor serve`).

It shares nothing with the client side of the package except `togul_monitor.protocol`.
"""
