# One image for the mock and the twin (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mock_core mock_core
COPY twin twin
COPY contract_tests contract_tests
COPY openapi openapi
COPY config config
RUN pip install --no-cache-dir -e .
EXPOSE 8080
CMD ["mock-core", "serve", "--host", "0.0.0.0"]
