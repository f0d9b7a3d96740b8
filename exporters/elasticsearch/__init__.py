"""The Elasticsearch bulk sink: client construction, destination set-up, bulk delivery and shipper metrics.

Nothing here knows about files or checkpoints; ``agent.shipper`` feeds it bulk bodies and acts on the
per-item outcomes it returns.
"""
