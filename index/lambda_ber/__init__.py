"""Our own pydantic models mirroring the lambda-ber-schema classes, slots and enums we fill."""
