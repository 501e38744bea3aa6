namespace HyperSharp.Bench;

/// <summary>
/// Benchmark driver: `make-data`, `convert` and `io`, each printing one line of key=value results
/// so bench/vhdx-vs-qemu.sh can put them beside qemu-img's numbers. Times exclude process startup.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0) { Console.Error.WriteLine("usage: HyperSharp.Bench make-data|convert|io ..."); return 2; }
        var rest = args[1..];
        return args[0] switch
        {
            "make-data" => MakeData.Run(rest),
            "convert" => ConvertBench.Run(rest),
            "io" => IoBench.Run(rest),
            _ => Fail($"unknown benchmark '{args[0]}'"),
        };
    }

    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"HyperSharp.Bench: {message}");
        return 2;
    }

    /// <summary>The value after --name, or the default.</summary>
    internal static string Option(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    internal static bool Flag(string[] args, string name) => Array.IndexOf(args, name) >= 0;
}
