"""Read a request body through its serializer: the one way every API handler does it."""

import threading


def valid_data(serializer_class, request, **kwargs) -> dict:
    """The body validated by ``serializer_class`` (extra ``kwargs`` go to the serializer,
    e.g. ``context``); an invalid body raises DRF's ValidationError, answered as a 400
    naming each field."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# Per thread: serializer class -> one instance of it whose fields are bound already.
_bound = threading.local()


def valid_flat_data(serializer_class, request) -> dict:
    """``valid_data`` for the annotate loop's bodies: the same DRF fields and errors, but
    bound once per thread instead of for every request.

    DRF deep-copies and binds every declared field for each serializer it makes: about
    1 ms of a submit, a tenth of its web CPU (benchmarks/request_profile.py). Fields keep
    no state of their own while validating; what a validation reads from its serializer
    (the body, for common/api/strict_json.py) is set on this thread's instance before
    and dropped after. For flat serializers with no context and no ``validate`` methods
    that keep state.
    """
    cache = getattr(_bound, "serializers", None)
    if cache is None:
        cache = _bound.serializers = {}
    serializer = cache.get(serializer_class)
    if serializer is None:
        serializer = cache[serializer_class] = serializer_class(data={})
        serializer.fields  # noqa: B018 (bound here, once)
    serializer.initial_data = request.data
    try:
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)
    finally:
        # The next body is validated afresh; nothing of this one is kept.
        for name in ("initial_data", "_validated_data", "_errors", "_data"):
            serializer.__dict__.pop(name, None)
