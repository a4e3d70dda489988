"""Field intake, offline and signed on the device.

A monitor's laptop or phone makes its own Ed25519 key pair (the public half is
registered with the mission), signs each observation as it is made, keeps it in an
outbox beside the key, and delivers the outbox when a link is up. Delivery is
resumable and idempotent: a record is marked sent only when the server has answered
for it, and the server stores a record sent twice once (its client id)."""
