# One image for the mock, the twin and contract-test (see docker-compose.yml): the
# package as pip installs it, with the contract and the scenarios inside it.
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY mock_core mock_core
COPY twin twin
COPY contract_tests contract_tests
COPY turingcore_client turingcore_client
COPY turingcore_sdk turingcore_sdk
COPY console console
COPY openapi openapi
COPY config config
RUN pip install --no-cache-dir . && rm -rf /src
WORKDIR /work
EXPOSE 8080
CMD ["mock-core", "serve", "--host", "0.0.0.0"]
