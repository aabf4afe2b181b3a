# The client side of the demo in docker/compose.yaml: psql, scikit-learn's
# bundled data sets (examples/datasets.py) and examples/demo.sh's SQL.
# It needs no hanami of its own: it talks to the server over the network.
ARG BASE=postgres:15-bookworm
FROM ${BASE}
RUN set -eux; \
	apt-get update; \
	apt-get install -y --no-install-recommends python3 python3-sklearn; \
	rm -rf /var/lib/apt/lists/*
COPY examples/datasets.py examples/demo.sh docker/run-demo.sh /opt/hanami-demo/
ENTRYPOINT []
CMD ["/opt/hanami-demo/run-demo.sh"]
