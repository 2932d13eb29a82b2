/* A stand-in interpreter: starts, exits 0. Built static so the benchmark
 * measures the wrapper in front of it, not a dynamic loader behind it. */
int main(void)
{
    return 0;
}
