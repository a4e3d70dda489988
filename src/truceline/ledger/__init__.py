"""Evidence integrity: the append-only Merkle ledger (RFC 9162 hashing), signed
tree heads, inclusion and consistency proofs, witnesses and signed submissions.

Modules: ``canonical`` (RFC 8785 bytes), ``merkle`` (pure tree, proofs, in-memory
node store), ``nodes`` (the tree over the database), ``log`` (append), ``note``
(C2SP signed notes, checkpoints, cosignatures), ``keys`` (key files),
``witness`` (a witness's checks and state), ``audit`` (offline bundle audit),
``storecheck`` (re-checking the database), ``signatures`` (signed submissions).
See docs/ledger.md.
"""
