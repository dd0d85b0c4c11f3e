"""Cross-cutting helpers with no knowledge of the domain: the error taxonomy and logging."""
