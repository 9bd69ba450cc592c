"""GraphQL only: Strawberry types, inputs, enums, context and the Schema object."""
