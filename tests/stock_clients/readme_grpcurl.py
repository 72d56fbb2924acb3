"""Runs the README's grpcurl examples the way grpcurl does, with stock
Python gRPC: every service and message type comes from the server's
reflection (v1alpha, which grpcurl and grpcio-reflection ask first), the
request from the example's JSON, the headers from its -H flags.

Usage: readme_grpcurl.py README.md HOST:PORT
Prints one JSON object per grpcurl command found in README.md: what was
run and what came back, or why it was skipped (TLS examples, which need
certificates this test does not have). The address in each example is
replaced by HOST:PORT; $VARIABLES are taken from the environment.
"""

import json
import os
import re
import shlex
import sys

import grpc
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

TLS_FLAGS = {"-cacert", "-cert", "-key", "-insecure"}
VALUE_FLAGS = {"-d", "-H", "-cacert", "-cert", "-key"}


def grpcurl_commands(readme_path):
    """Every grpcurl command in the README: backslash continuations joined,
    and a quoted argument may span lines, as in a shell."""
    with open(readme_path, encoding="utf-8") as readme:
        text = re.sub(r"\\\n\s*", " ", readme.read())
    commands, pending = [], None
    for line in text.splitlines():
        if pending is None:
            if not line.strip().startswith("grpcurl "):
                continue
            pending = line.strip()
        else:
            pending += "\n" + line
        try:
            shlex.split(pending, comments=True)
        except ValueError:
            continue  # an open quote: the command goes on
        commands.append(pending)
        pending = None
    return commands


def parse(command):
    """The flags and positional arguments of one grpcurl command."""
    words = shlex.split(os.path.expandvars(command), comments=True)[1:]
    flags, positional = [], []
    at = 0
    while at < len(words):
        word = words[at]
        if word in VALUE_FLAGS:
            flags.append((word, words[at + 1]))
            at += 2
        elif word.startswith("-"):
            flags.append((word, None))
            at += 1
        else:
            positional.append(word)
            at += 1
    return flags, positional


def run(command, address):
    flags, positional = parse(command)
    names = {name for name, _ in flags}
    if names & TLS_FLAGS:
        return {"command": command, "skipped": "TLS example: needs the deployment's certificates"}
    body = next((value for name, value in flags if name == "-d"), "{}")
    headers = []
    for name, value in flags:
        if name == "-H":
            key, _, val = value.partition(":")
            headers.append((key.strip().lower(), val.strip()))
    target = positional[1] if len(positional) > 1 else ""
    channel = grpc.insecure_channel(address)
    database = ProtoReflectionDescriptorDatabase(channel)
    if target == "list":
        return {"command": command, "ok": True, "services": sorted(database.get_services())}
    service_name, _, method_name = target.rpartition("/")
    pool = DescriptorPool(database)
    method = pool.FindServiceByName(service_name).FindMethodByName(method_name)
    request_type = message_factory.GetMessageClass(method.input_type)
    response_type = message_factory.GetMessageClass(method.output_type)
    request = json_format.Parse(body, request_type())
    call = channel.unary_unary(
        f"/{service_name}/{method_name}",
        request_serializer=request_type.SerializeToString,
        response_deserializer=response_type.FromString,
    )
    try:
        response, outcome = call.with_call(request, metadata=headers, timeout=10)
    except grpc.RpcError as err:
        return {"command": command, "ok": False, "error": f"{err.code().name}: {err.details()}"}
    return {
        "command": command,
        "ok": True,
        "response": json.loads(json_format.MessageToJson(response)),
        "metadata": dict(outcome.initial_metadata()),
    }


def main():
    readme_path, address = sys.argv[1], sys.argv[2]
    for command in grpcurl_commands(readme_path):
        print(json.dumps(run(command, address)), flush=True)


if __name__ == "__main__":
    main()
