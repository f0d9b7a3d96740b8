"""Reviews of completed bookings, and the vehicle_ratings materialized view that vehicle pages read.

``repository`` holds the SQL; ``refresher.RatingsRefresher`` keeps the view fresh from the API lifespan.
"""
