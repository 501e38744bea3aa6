namespace HyperSharp.Bench;

/// <summary>
/// Writes a raw image of "realistic" data: 1 MiB runs, each random with probability 0.4, else
/// zeros, from a fixed seed. Zeros are written out (not left as holes), so converters must scan
/// them as they would in an image copied with dd.
/// </summary>
internal static class MakeData
{
    public static int Run(string[] args)
    {
        if (args.Length < 1) return Program.Fail("usage: make-data PATH [--size-mib 2048] [--seed 42] [--random-fraction 0.4]");
        long mib = long.Parse(Program.Option(args, "--size-mib", "2048"));
        var random = new Random(int.Parse(Program.Option(args, "--seed", "42")));
        double fraction = double.Parse(Program.Option(args, "--random-fraction", "0.4"), System.Globalization.CultureInfo.InvariantCulture);
        var data = new byte[1 << 20];
        var zeros = new byte[1 << 20];
        long randomRuns = 0;
        using var file = File.Create(args[0]);
        for (long i = 0; i < mib; i++)
        {
            if (random.NextDouble() < fraction) { random.NextBytes(data); file.Write(data); randomRuns++; }
            else file.Write(zeros);
        }
        Console.WriteLine($"size_mib={mib} random_runs={randomRuns} zero_runs={mib - randomRuns}");
        return 0;
    }
}
