"""Generation clients that need neither torch nor Django (the web tier and the default
worker import them): ``openai_client`` speaks to any OpenAI-compatible chat endpoint."""
