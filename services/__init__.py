"""Domain services: everything the resolvers use, nothing about HTTP or GraphQL."""
