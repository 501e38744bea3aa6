using System.Text.RegularExpressions;
using HyperSharp.Api;
using HyperSharp.Api.V1;
using HyperSharp.Host.Tests;
using HyperSharp.Integration.Tests.Guest;
using HyperSharp.Machine.Tests;
using Xunit.Abstractions;

namespace HyperSharp.PowerShell.Tests;

/// <summary>
/// PowerShell Direct end to end, from a real pwsh 7.6.9 with the module: the Debian kit guest on the Emulated backend,
/// no network adapter, its agent started by the test, HyperSharp's PowerShell disk (hs-pwsh) as its only disk. One
/// boot: refusals first (a VM that is off, a guest whose agent is not running, a guest with no PowerShell), then
/// Invoke-Command -VMName returning the guest's objects deserialized, an error in the guest as an error record, a
/// session from New-PSSession -VMName that keeps its state across two commands, Copy-Item -ToSession, -Credential
/// refused for a wrong password, Enter-PSSession -VMName -Credential running the session as that guest account, and
/// the timings.
/// </summary>
public sealed class PowerShellDirectGuestTests(ITestOutputHelper output) : HostedSession
{
    // /init runs this without starting the agent (no hs.agent on the command line): the test says when.
    // A guest account for -Credential: psuser, password Pa55w.rd (SHA-512 crypt, as `openssl passwd -6` writes it).
    private const string GuestScript = """
        echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd
        echo 'psuser:x:1000:1000:PowerShell Direct:/home/psuser:/bin/sh' >> /etc/passwd
        echo 'root:*:19000:0:99999:7:::' > /etc/shadow
        echo 'psuser:$6$hsdirect13$GR2wn4TrUwSwyj4MoaJ2V0sODY6sSWZALAsXVZSbFzJyRxu5KVje5gXVpHTJhPvvryzSo4aedqu9/0GxQg/Eu/:19000:0:99999:7:::' >> /etc/shadow
        chmod 600 /etc/shadow
        printf 'root:x:0:\npsuser:x:1000:\n' > /etc/group
        mkdir -p /home/psuser && chown 1000:1000 /home/psuser
        echo TEST-READY
        read -r step
        /sbin/hs-agent &
        echo TEST-AGENT-STARTED
        read -r step
        mkdir -p /opt/hs-pwsh
        i=0; while ! mount -t ext4 -o ro /dev/sda /opt/hs-pwsh 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
        echo "TEST-PWSH-MOUNTED $(ls /opt/hs-pwsh | tr '\n' ' ')."
        while :; do sleep 3600; done
        """;

    [Fact]
    public async Task Invoke_Command_VMName_returns_the_guest_s_objects_from_pwsh_in_the_guest()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        var (agent, agentWhy) = AgentKit.Get();
        if (agent is null) { output.WriteLine("skipped: " + agentWhy); return; }
        var (image, imageWhy) = PwshDisk.Get();
        if (image is null) { output.WriteLine("skipped: " + imageWhy); return; }
        var (installed, pwshPath) = await InstalledPwshTests.RunAsync("bash", [Path.Combine(RepoPaths.Root, "eng", "install-pwsh.sh")], TimeSpan.FromMinutes(5));
        string pwsh = pwshPath.Trim();
        if (installed != 0 || !File.Exists(pwsh)) { output.WriteLine($"skipped: PowerShell 7.6.9 could not be installed (exit {installed}): {pwshPath}"); return; }
        string modules = Directory.CreateDirectory(Path.Combine(Host.Root, "modules")).FullName;
        Directory.CreateSymbolicLink(Path.Combine(modules, "HyperSharp"), RepoPaths.ModuleBuild);
        var env = new Dictionary<string, string> { ["PSModulePath"] = modules, ["HYPERSHARP_HOST_SOCKET"] = Host.SocketPath };
        async Task<string> Pwsh(string script, TimeSpan timeout)
        {
            string file = Path.Combine(Host.Root, $"script-{Guid.NewGuid():N}.ps1");
            await File.WriteAllTextAsync(file, script);
            var (code, text) = await InstalledPwshTests.RunAsync(pwsh, ["-NoProfile", "-NonInteractive", "-File", file], timeout, env);
            output.WriteLine($"--- pwsh (exit {code}):\n{text}");
            Assert.True(code == 0, $"pwsh exited {code}: {text}\n{Host.WorkerLogs()}");
            return text;
        }

        string disk = Path.Combine(Host.Disks, "pwsh.img");
        File.Copy(image, disk);
        string initrd = AgentKit.Initrd(kit, agent, Host.Root, new Dictionary<string, string> { ["50-psdirect.sh"] = GuestScript });
        using var channel = HostEndpoint.Connect(Host.SocketPath);
        var client = new VmHost.VmHostClient(channel);
        var boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" };
        await client.CreateVmAsync(new CreateVmRequest { Name = "g", MemoryStartupBytes = 1L << 30, Backend = "emulated", VhdPath = disk, Boot = boot });
        await client.CreateVmAsync(new CreateVmRequest { Name = "cold", MemoryStartupBytes = 64L << 20, Backend = "emulated", Boot = boot });
        await client.StartVmAsync(new VmRef { Name = "g" });
        try
        {
            Assert.Contains("TEST-READY", await GuestConsole.ReadAsync(client, "g", t => t.Contains("TEST-READY"), TimeSpan.FromSeconds(600)));

            // Refusals that say what is wrong: the VM is off; the guest's agent is not running.
            string refusals = await Pwsh("""
                Import-Module HyperSharp
                try { Invoke-Command -VMName cold { 1 } -ErrorAction Stop } catch { "OFF: $_" }
                try { Invoke-Command -VMName g { 1 } -ErrorAction Stop } catch { "NOAGENT: $_" }
                try { New-PSSession -VMName nosuch -ErrorAction Stop } catch { "NOVM: $_" }
                """, TimeSpan.FromMinutes(3));
            Assert.Matches(@"OFF: \[cold\] cannot open a PowerShell Direct session to VM 'cold': it is Off", refusals);
            Assert.Matches(@"NOAGENT: \[g\] cannot open a PowerShell Direct session to VM 'g': its guest agent is not answering", refusals);
            Assert.Matches(@"NOVM: \[nosuch\] no VM named 'nosuch'", refusals);

            await GuestConsole.ReadAsync(client, "g", t => t.Contains("TEST-AGENT-STARTED"), TimeSpan.FromSeconds(60), "agent\n"u8.ToArray());
            var heartbeat = System.Diagnostics.Stopwatch.StartNew();
            while ((await client.GetVmAsync(new VmRef { Name = "g" })).Heartbeat != "OkApplicationsUnknown")
            {
                Assert.True(heartbeat.Elapsed < TimeSpan.FromSeconds(300), "the guest's agent did not answer within 300 s");
                await Task.Delay(200);
            }
            string noPowerShell = await Pwsh("""
                Import-Module HyperSharp
                try { Invoke-Command -VMName g { 1 } -ErrorAction Stop } catch { "NOPWSH: $_" }
                """, TimeSpan.FromMinutes(3));
            Assert.Contains("NOPWSH: [g] cannot open a PowerShell Direct session to VM 'g': the guest has no PowerShell", noPowerShell);

            string mounted = await GuestConsole.ReadAsync(client, "g", t => Regex.IsMatch(t, @"TEST-PWSH-MOUNTED [^.]*\."), TimeSpan.FromSeconds(60), "mount\n"u8.ToArray());
            Assert.Matches(@"TEST-PWSH-MOUNTED app hs-pwsh lib lost\+found \.", mounted);

            string text = await Pwsh("""
                $ErrorActionPreference = 'Stop'
                Import-Module HyperSharp
                $clock = [Diagnostics.Stopwatch]::StartNew()
                $r = Invoke-Command -VMName g { $PSVersionTable.PSVersion.ToString(); Get-Content /proc/version; 6*7 }
                "COLD-MS $($clock.ElapsedMilliseconds)"
                "VERSION $($r[0])"
                "KERNEL $($r[1])"
                "ANSWER $($r[2]) $($r[2].GetType().Name) from $($r[2].PSComputerName)"

                $s = New-PSSession -VMName g
                "SESSION $($s.ComputerName) $($s.State) $($s.Transport) $($s.Availability)"
                $clock.Restart()
                $one = Invoke-Command -Session $s { 1 }
                "FIRST-MS $($clock.ElapsedMilliseconds)"
                $clock.Restart()
                $one = Invoke-Command -Session $s { 1 }
                "WARM-MS $($clock.ElapsedMilliseconds)"
                Invoke-Command -Session $s { $global:kept = 21 }
                "KEPT $(Invoke-Command -Session $s { $global:kept * 2 })"
                $item = Invoke-Command -Session $s { Get-Item /proc/version }
                "TYPE $($item.PSObject.TypeNames[0]) $($item.FullName)"
                $errors = $null
                Invoke-Command -Session $s { Get-Item /nonexistent/file } -ErrorAction SilentlyContinue -ErrorVariable errors
                "ERROR $($errors[0].CategoryInfo.Category) $($errors[0].FullyQualifiedErrorId) $($errors[0].Exception.GetType().Name)"
                $clock.Restart()
                $big = Invoke-Command -Session $s { 'x' * 1MB }
                "BIG $($big.Length) MS $($clock.ElapsedMilliseconds)"
                $clock.Restart()
                $many = Invoke-Command -Session $s { 1..500 | ForEach-Object { [pscustomobject]@{ N = $_; Text = 'row' } } }
                "MANY $($many.Count) $($many[-1].N) MS $($clock.ElapsedMilliseconds)"
                $file = Join-Path ([IO.Path]::GetTempPath()) "psdirect-$PID.bin"
                $bytes = [byte[]]::new(1MB); [Random]::new(5).NextBytes($bytes); [IO.File]::WriteAllBytes($file, $bytes)
                Copy-Item -Path $file -Destination /tmp/copied.bin -ToSession $s
                $copied = Invoke-Command -Session $s { (Get-FileHash /tmp/copied.bin -Algorithm SHA256).Hash }
                "COPY $($copied -eq (Get-FileHash $file -Algorithm SHA256).Hash)"
                Remove-Item $file
                Remove-PSSession $s

                $wrong = [pscredential]::new('psuser', (ConvertTo-SecureString 'wrong' -AsPlainText -Force))
                try { Invoke-Command -VMName g -Credential $wrong { 1 } -ErrorAction Stop } catch { "REFUSED: $_" }
                "SESSIONS $(@(Get-PSSession).Count)"
                """, TimeSpan.FromMinutes(20));
            Assert.Matches(@"VERSION 7\.6\.\d+", text);
            Assert.Matches(@"KERNEL Linux version \d", text);
            Assert.Contains("ANSWER 42 Int32 from g", text);
            Assert.Contains("SESSION g Opened PowerShellDirect Available", text);
            Assert.Contains("KEPT 42", text);
            Assert.Contains("TYPE Deserialized.System.IO.FileInfo /proc/version", text);
            Assert.Contains("ERROR ObjectNotFound PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand", text);
            Assert.Contains($"BIG {1 << 20} ", text);
            Assert.Contains("MANY 500 500 ", text);
            Assert.Contains("SESSIONS 0", text);
            Assert.Contains("COPY True", text);
            Assert.Contains("REFUSED: [g] cannot open a PowerShell Direct session to VM 'g': the guest refused the credentials for 'psuser': the user name or password is wrong", text);
            // Enter-PSSession -VMName -Credential in a pwsh reading its commands from stdin (its console host runs them in
            // the pushed session): PowerShell in the guest, as the guest account. One cold start proves both.
            var (entered, enteredText) = await InstalledPwshTests.RunAsync(pwsh, ["-NoProfile", "-Command", "-"], TimeSpan.FromMinutes(10), env, """
                Import-Module HyperSharp
                Enter-PSSession -VMName g -Credential ([pscredential]::new('psuser', (ConvertTo-SecureString 'Pa55w.rd' -AsPlainText -Force)))
                "ENTERED $([Environment]::ProcessPath)"
                "AS $([Environment]::UserName) $HOME $(id -u)"
                Exit-PSSession
                "the console host read this line while the guest's session was still pushed, so it does not run it"
                "LEFT $([Environment]::ProcessPath)"

                """);
            output.WriteLine($"--- pwsh -Command - (exit {entered}):\n{enteredText}");
            Assert.Contains("ENTERED /opt/hs-pwsh/app/hs-pwsh", enteredText);
            Assert.Contains("AS psuser /home/psuser 1000", enteredText);
            Assert.Matches(@"LEFT /(?!opt/hs-pwsh)", enteredText); // back in the local pwsh (lines may start with terminal escapes)

            double Figure(string name) => double.Parse(Regex.Match(text, name + @" (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            var (execBytes, execTime) = await ExecOutputAsync(channel, "g", ["head", "-c", "1048576", "/dev/zero"]);
            Assert.Equal(1 << 20, execBytes);
            output.WriteLine($"Invoke-Command -VMName to its results (cold: a new session, PowerShell starting in the guest): {Figure("COLD-MS") / 1000:F1} s; "
                + $"an open session's first command: {Figure("FIRST-MS") / 1000:F1} s, its next: {Figure("WARM-MS"):F0} ms; a 1 MiB string: {Figure(@"BIG \d+ MS") / 1000:F2} s "
                + $"({1 / (Figure(@"BIG \d+ MS") / 1000):F3} MiB/s); 500 objects: {Figure(@"MANY \d+ \d+ MS") / 1000:F2} s; the same transport without PowerShell "
                + $"(hyper vm exec's stream, 1 MiB from head): {execTime.TotalSeconds:F2} s; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        }
        finally
        {
            await client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "g" }, TurnOff = true });
        }
    }

    /// <summary>A command's stdout through the host's exec stream (the path a PowerShell Direct session rides on): its length and how long it took.</summary>
    private static async Task<(int Bytes, TimeSpan Took)> ExecOutputAsync(Grpc.Net.Client.GrpcChannel channel, string vm, string[] command)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var call = new VmHost.VmHostClient(channel).GuestIntegration.ExecVm();
        var first = new ExecInput { Vm = new VmRef { Name = vm }, StdinClose = true };
        first.Arguments.AddRange(command);
        await call.RequestStream.WriteAsync(first);
        int bytes = 0;
        while (await call.ResponseStream.MoveNext(CancellationToken.None) && !call.ResponseStream.Current.Exited) bytes += call.ResponseStream.Current.Stdout.Length;
        return (bytes, clock.Elapsed);
    }
}
