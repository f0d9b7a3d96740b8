"""Island Rides' Grafana dashboards as code, Prometheus rules and the Alertmanager example.

``python -m dashboards.build`` writes ``dashboards/generated/*.json`` from the modules here;
``rules/`` holds the recording and alerting rules, ``tests/`` their promtool unit tests.
"""
