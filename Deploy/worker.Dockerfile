# A training worker's image with the Python client, for Deploy/kubernetes/training-job.yaml. Put your
# training code on top of it (or `pip install ./Clients/python` into your own image). From the repository root:
#   docker build -f Deploy/worker.Dockerfile -t chorus-worker .
FROM python:3.11-slim-bookworm
COPY Clients/python /src/chorus-client
# The client's one dependency, pyzmq, ships its own libzmq in its wheel: no Debian package is needed.
RUN pip install --no-cache-dir /src/chorus-client
USER 10001:10001
WORKDIR /tmp
CMD ["python"]
