"""A live dashboard: topics as channels, fed by an SQS worker and a schedule."""
