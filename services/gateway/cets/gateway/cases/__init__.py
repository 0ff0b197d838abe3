"""Cases at the officer's own gateway: the store (:mod:`.store`) and its REST routes
(:mod:`.routes`)."""
