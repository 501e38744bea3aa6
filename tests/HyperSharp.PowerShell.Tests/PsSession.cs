using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Pwsh = System.Management.Automation.PowerShell;

namespace HyperSharp.PowerShell.Tests;

/// <summary>
/// A runspace with the HyperSharp module imported from this test's output folder (where the module's
/// dll, manifest, format and help files are copied), pointed at one host through $HyperSharpHostSocket.
/// </summary>
public sealed class PsSession : IDisposable
{
    private readonly Runspace _runspace;

    public PsSession(string socketPath, string workingDirectory)
    {
        var state = InitialSessionState.CreateDefault2();
        state.Variables.Add(new SessionStateVariableEntry("HyperSharpHostSocket", socketPath, "the HyperSharp host the module talks to"));
        _runspace = RunspaceFactory.CreateRunspace(state);
        _runspace.Open();
        using var setup = Pwsh.Create(_runspace);
        setup.AddCommand("Import-Module").AddParameter("Name", ModuleManifest).AddParameter("ErrorAction", "Stop").AddStatement()
            .AddCommand("Set-Location").AddParameter("LiteralPath", workingDirectory);
        setup.Invoke();
        if (setup.HadErrors) throw new InvalidOperationException("module setup failed: " + string.Join("; ", setup.Streams.Error));
    }

    /// <summary>The manifest beside the test assembly.</summary>
    public static string ModuleManifest => Path.Combine(AppContext.BaseDirectory, "HyperSharp.psd1");

    /// <summary>Runs a script; returns its output, errors, warnings and progress records.</summary>
    public async Task<ScriptResult> RunAsync(string script)
    {
        using var ps = Pwsh.Create(_runspace);
        ps.AddScript(script);
        PSDataCollection<PSObject> output;
        try
        {
            output = await ps.InvokeAsync();
        }
        catch (RuntimeException e)
        {
            return new ScriptResult([], [e.ErrorRecord, .. ps.Streams.Error], [.. ps.Streams.Warning], [.. ps.Streams.Progress], Terminated: true);
        }
        return new ScriptResult([.. output], [.. ps.Streams.Error], [.. ps.Streams.Warning], [.. ps.Streams.Progress], Terminated: false);
    }

    public void Dispose() => _runspace.Dispose();
}

/// <summary>What a script produced.</summary>
public sealed record ScriptResult(IReadOnlyList<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, IReadOnlyList<WarningRecord> Warnings,
    IReadOnlyList<ProgressRecord> Progress, bool Terminated)
{
    /// <summary>Asserts the script raised no error and returns its output.</summary>
    public IReadOnlyList<PSObject> Ok()
    {
        Assert.True(Errors.Count == 0, "script errors: " + string.Join(" | ", Errors.Select(e => $"{e.CategoryInfo.Category}: {e}")));
        return Output;
    }
}
