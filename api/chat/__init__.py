"""Chat between the renter and the host of a booking: conversations, messages, WebSocket fan-out.

``repository`` holds the SQL, ``frames`` parses and bounds what clients send over the WebSocket,
``pubsub.Fanout`` carries messages between API processes through Redis pub/sub (one subscriber
connection per process, one channel per conversation), ``rate`` limits frames per connection.
"""
