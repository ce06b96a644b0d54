"""One error type for business-rule refusals; views, the API and commands translate it."""


class ApplicationError(Exception):
    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
