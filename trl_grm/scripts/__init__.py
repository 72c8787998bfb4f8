"""One module per `trl-grm` stage command (TRL style: `make_parser()` + `main()`)."""
