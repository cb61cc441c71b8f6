"""Pure functions from raw archive records to lambda-ber records and front-door rows."""
