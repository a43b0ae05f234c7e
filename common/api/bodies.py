"""Read a request body through its serializer: the one way every API handler does it."""


def valid_data(serializer_class, request, **kwargs) -> dict:
    """The body validated by ``serializer_class`` (extra ``kwargs`` go to the serializer,
    e.g. ``context``); an invalid body raises DRF's ValidationError, answered as a 400
    naming each field."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
