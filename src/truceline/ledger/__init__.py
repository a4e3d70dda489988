"""Evidence integrity: the append-only Merkle ledger (RFC 9162 hashing), signed
tree heads, inclusion and consistency proofs, witnesses and signed submissions."""
