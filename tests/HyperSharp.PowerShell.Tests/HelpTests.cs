using System.Management.Automation;
using Xunit.Abstractions;

namespace HyperSharp.PowerShell.Tests;

/// <summary>The module's help: generated from the cmdlets, committed, and what Get-Help shows.</summary>
public sealed class HelpTests(ITestOutputHelper output)
{
    /// <summary>Set this to rewrite the committed help file from the cmdlets instead of failing on a difference.</summary>
    private const string UpdateVariable = "HYPERSHARP_UPDATE_HELP";

    [Fact]
    public void The_committed_help_file_matches_the_cmdlets()
    {
        string generated = MamlWriter.Generate(typeof(HyperSharpCmdlet).Assembly);
        string committed = Path.Combine(RepoPaths.ModuleSource, "HyperSharp.dll-Help.xml");
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            File.WriteAllText(committed, generated);
            output.WriteLine($"rewrote {committed}");
            return;
        }
        Assert.True(File.ReadAllText(committed) == generated,
            $"{committed} is out of date with the cmdlets' [CmdletHelp] and HelpMessage texts: run this test with {UpdateVariable}=1 and commit the file");
    }

    [Fact]
    public async Task Get_Help_shows_our_synopsis_parameters_and_examples_for_every_cmdlet()
    {
        using var ps = new PsSession("/nonexistent.sock", Path.GetTempPath());
        var names = (await ps.RunAsync("(Get-Command -Module HyperSharp -CommandType Cmdlet).Name")).Ok().Select(o => (string)o.BaseObject).ToList();
        Assert.Equal(76, names.Count);
        // Hyper-V's aliases: the checkpoint cmdlets under their newer names.
        var aliases = (await ps.RunAsync("Get-Command -Module HyperSharp -CommandType Alias | ForEach-Object { \"$($_.Name)=$($_.ResolvedCommandName)\" }")).Ok().Select(o => (string)o.BaseObject);
        Assert.Equal(["Export-VMCheckpoint=Export-VMSnapshot", "Get-VMCheckpoint=Get-VMSnapshot", "Remove-VMCheckpoint=Remove-VMSnapshot", "Rename-VMCheckpoint=Rename-VMSnapshot", "Restore-VMCheckpoint=Restore-VMSnapshot"], aliases.Order(StringComparer.Ordinal));
        // The manifest exports exactly the cmdlets the dll has.
        var exported = (await ps.RunAsync($"(Test-ModuleManifest -Path '{PsSession.ModuleManifest}').ExportedCmdlets.Keys")).Ok().Select(o => (string)o.BaseObject);
        Assert.Equal(names.Order(StringComparer.Ordinal), exported.Order(StringComparer.Ordinal));
        foreach (var name in names)
        {
            var help = Assert.Single((await ps.RunAsync($"Get-Help {name} -Full")).Ok());
            var type = typeof(HyperSharpCmdlet).Assembly.GetTypes().Single(t => t.GetCustomAttributes(typeof(CmdletAttribute), false).Cast<CmdletAttribute>()
                .Any(c => $"{c.VerbName}-{c.NounName}" == name));
            var expected = (CmdletHelpAttribute)type.GetCustomAttributes(typeof(CmdletHelpAttribute), false).Single();
            Assert.Equal(expected.Synopsis, help.Properties["Synopsis"].Value?.ToString()?.Trim());
        }
        var text = string.Join("\n", (await ps.RunAsync("Get-Help New-VHD -Full | Out-String -Width 200")).Ok().Select(o => o.BaseObject));
        Assert.Contains("Creates virtual hard disks.", text);
        Assert.Contains("-ParentPath", text);
        Assert.Contains("New-VHD -Path ./base.vhdx -SizeBytes 20GB", text);
    }
}

/// <summary>Where the repository's files are, found from the test's output folder (tests/X/bin/CONFIG/net10.0).</summary>
public static class RepoPaths
{
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "HyperSharp.slnx"))) return dir.FullName;
            throw new InvalidOperationException("HyperSharp.slnx not found above " + AppContext.BaseDirectory);
        }
    }

    public static string ModuleSource => Path.Combine(Root, "src", "HyperSharp.PowerShell");

    /// <summary>The built module folder (HyperSharp.psd1, HyperSharp.dll and its dependencies), in the test's own configuration.</summary>
    public static string ModuleBuild
    {
        get
        {
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            return Path.Combine(ModuleSource, "bin", framework.Parent!.Name, framework.Name);
        }
    }
}
