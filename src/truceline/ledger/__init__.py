"""Evidence integrity: the append-only Merkle ledger (RFC 9162 hashing), signed
tree heads, inclusion and consistency proofs, witnesses and signed submissions.

Pure: no database. Modules: ``canonical`` (RFC 8785 bytes), ``merkle`` (tree,
proofs, in-memory node store), ``log`` (what an entry's bytes and leaf hash are),
``note`` (C2SP signed notes, checkpoints, cosignatures), ``keys`` (key files),
``witness`` (a witness's checks and state), ``audit`` (offline bundle audit),
``storecheck`` (re-checking what the store holds, read through a port),
``signatures`` (signed submissions). The tables are ``truceline.store.ledger``.
See docs/ledger.md.
"""
