# tccp in a container: the toolkit on a Debian 12 base, for laptops where
# building is not wanted. Usage:
#   docker build -t tccp .
#   docker run -it --rm -v "$PWD:/work" -v "$HOME/.tccp:/root/.tccp" -w /work tccp run train
FROM debian:bookworm AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config libssh2-1-dev libyaml-cpp-dev \
      nlohmann-json3-dev libcli11-dev libssl-dev libarchive-dev libedit-dev libgtest-dev \
    && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    && cmake --build /build && cmake --install /build --prefix /opt/tccp

FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssh2-1 libyaml-cpp0.7 libssl3 libarchive13 libedit2 openssh-client ca-certificates vim-tiny \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/tccp /usr/local
ENTRYPOINT ["tccp"]
