"""The async request/progress pattern: acknowledge, work in an SQS worker, report progress."""
