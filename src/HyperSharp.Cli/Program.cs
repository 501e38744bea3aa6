using System.CommandLine;

namespace HyperSharp.Cli;

/// <summary>Entry point of `hyper`: one root command, one sub-command tree per area.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("HyperSharp: Hyper-V-class virtualization for Linux hosts");
        return root.Parse(args).Invoke();
    }
}
