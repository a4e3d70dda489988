"""Stream intake (to come): a NATS JetStream producer and consumer so that
observations flow into any number of stateless workers, with PostgreSQL as the
system of record. See DESIGN.md, "Choices: Scale-out"."""
