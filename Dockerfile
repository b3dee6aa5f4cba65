# floorwatch image: every daemon and tool in one small Debian 12 image; the manifests pick the
# daemon with `command:`. Build: docker build -t floorwatch:0.1.0 .
FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends make gcc libc6-dev pkg-config \
    libczmq-dev libzmq3-dev libyaml-dev libjansson-dev libcurl4-openssl-dev liblmdb-dev \
    libmicrohttpd-dev libpcre2-dev && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN make -C /src all && make -C /src install PREFIX=/usr/local DESTDIR=/out

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends libczmq4 libyaml-0-2 \
    libjansson4 libcurl4 liblmdb0 libmicrohttpd12 libpcre2-8-0 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/usr/local/bin/ /usr/local/bin/
USER 65534
