"""The log shipper: tails ECS JSON log files and ships every line to Elasticsearch exactly once.

``ShipperConfig`` (``agent.shipper.config``) is the ``shipper:`` section of the agent's YAML.
"""
