"""Transport-neutral use cases: plain context and arguments in, plain dataclasses out."""
