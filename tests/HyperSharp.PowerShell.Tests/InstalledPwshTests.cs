using System.Diagnostics;
using Xunit.Abstractions;

namespace HyperSharp.PowerShell.Tests;

/// <summary>The module in a real pwsh 7.6.9 process (installed by eng/install-pwsh.sh), found by name on PSModulePath.</summary>
public sealed class InstalledPwshTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public Task InitializeAsync() => _host.InitializeAsync();

    public Task DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task An_admin_script_runs_in_pwsh_with_the_module_from_PSModulePath()
    {
        var (installed, pwsh) = await RunAsync("bash", [Path.Combine(RepoPaths.Root, "eng", "install-pwsh.sh")], TimeSpan.FromMinutes(5));
        if (installed != 0 || !File.Exists(pwsh.Trim()))
        {
            output.WriteLine($"skipped: PowerShell 7.6.9 could not be installed as a dotnet tool (exit {installed}): {pwsh}");
            return;
        }
        // PSModulePath holds a folder named like the module, as an installed module sits.
        string modules = Directory.CreateDirectory(Path.Combine(_host.Root, "modules")).FullName;
        Directory.CreateSymbolicLink(Path.Combine(modules, "HyperSharp"), RepoPaths.ModuleBuild);
        string script = Path.Combine(_host.Root, "admin.ps1");
        await File.WriteAllTextAsync(script, """
            $ErrorActionPreference = 'Stop'
            Import-Module HyperSharp
            Set-Location $args[0]
            $disk = New-VHD -Path data.vhdx -SizeBytes 2GB
            "created $($disk.VhdFormat) $($disk.VhdType) $($disk.Size / 1GB)GB"
            Resize-VHD -Path data.vhdx -SizeBytes 4GB
            "resized $((Get-VHD data.vhdx).Size / 1GB)GB"
            "valid $(Test-VHD data.vhdx)"
            try { Get-VHD missing.vhdx } catch { "error $($_.CategoryInfo.Category)" }
            New-VMSwitch -Name lab -SwitchType Private | Out-Null
            New-VM -Name web01 -MemoryStartupBytes 64MB | Out-Null
            Add-VMNetworkAdapter -VMName web01 -SwitchName lab
            Get-VMNetworkAdapter -VMName web01 | Set-VMNetworkAdapterVlan -Access -VlanId 7
            Get-VMNetworkAdapterVlan -VMName web01 | ForEach-Object { "vlan $($_.OperationMode) $($_.AccessVlanId)" }
            Get-VMNetworkAdapter -VMName web01 | Out-String -Width 200
            try { Connect-VMNetworkAdapter -VMName web01 -SwitchName nosuch } catch { "connect error $($_.CategoryInfo.Category)" }
            (Get-Help Get-VM).Synopsis
            if ((Get-Help about_HyperSharp | Out-String) -match 'WHICH HOST') { 'about topic found' }
            """);
        var env = new Dictionary<string, string>
        {
            ["PSModulePath"] = modules,
            ["HYPERSHARP_HOST_SOCKET"] = _host.SocketPath,
        };
        var (code, text) = await RunAsync(pwsh.Trim(), ["-NoProfile", "-NonInteractive", "-File", script, _host.Disks], TimeSpan.FromMinutes(2), env);
        output.WriteLine(text);
        Assert.True(code == 0, $"pwsh exited {code}: {text}");
        Assert.Contains("created VHDX Dynamic 2GB", text);
        Assert.Contains("resized 4GB", text);
        Assert.Contains("valid True", text);
        Assert.Contains("error ObjectNotFound", text);
        Assert.Contains("vlan Access 7", text);
        Assert.Matches(@"Network Adapter\s+False\s+web01\s+lab\s+[0-9A-F]{12}\s+\{Ok\}", text);
        Assert.Contains("connect error ObjectNotFound", text);
        Assert.Contains("Gets the virtual machines on the host.", text);
        Assert.Contains("about topic found", text);
    }

    /// <summary>Runs a process to its end (killed by its own PID on timeout), <paramref name="stdin"/> as its input; returns exit code and stdout + stderr.</summary>
    internal static async Task<(int Code, string Output)> RunAsync(string file, string[] args, TimeSpan timeout, Dictionary<string, string>? env = null, string? stdin = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? []) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cancel.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); return (-1, $"timed out after {timeout}"); }
        return (p.ExitCode, await stdout + await stderr);
    }
}
