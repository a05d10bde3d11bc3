# Entry points for newcomers; cargo does the real work.
#   make demo   builds librcgc (release) and runs the tutorial replay
#   make test   every test: Rust unit/integration tests and every C program
CC ?= cc
CFLAGS ?= -std=c11 -O2 -Wall -Wextra -Werror
LIBDIR := $(CURDIR)/target/release

.PHONY: demo test lib
lib:
	cargo build --release

demo: lib
	$(CC) $(CFLAGS) -Iinclude examples/tutorial.c -o target/tutorial \
		-L$(LIBDIR) -lrcgc -Wl,-rpath,$(LIBDIR)
	./target/tutorial

test:
	cargo test
