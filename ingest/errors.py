"""Specific, user-facing reasons a file could not be ingested."""


class IngestError(Exception):
    """A file was refused; the message says why and the rest of the batch goes on."""


class EmptyFileError(IngestError):
    pass


class EncodingError(IngestError):
    pass


class CorruptFileError(IngestError):
    pass


class EncryptedFileError(CorruptFileError):
    pass


class UnsupportedFormatError(IngestError):
    pass


class FileTooLargeError(IngestError):
    pass
