/* The physical floor of a shim: the least any wrapper can cost.
 *
 * A static program that does nothing but execve() one fixed interpreter,
 * passing its own arguments and environment through. argv[0] becomes the
 * absolute interpreter path, as venvexec does it (CPython finds pyvenv.cfg
 * from argv[0]). The interpreter is fixed at compile time:
 *
 *   cc -static -O2 -DTARGET='"/abs/path/.venv/bin/python"' -o floor floor.c
 *
 * A shim that costs "no more than one extra exec" costs about this much.
 */
#include <unistd.h>

#ifndef TARGET
#error "compile with -DTARGET='\"/absolute/path/to/python\"'"
#endif

extern char **environ;

int main(int argc, char **argv)
{
    (void)argc;
    argv[0] = TARGET;
    execve(TARGET, argv, environ);
    return 127;
}
