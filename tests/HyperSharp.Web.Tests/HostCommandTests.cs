using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using HyperSharp.Inventory.Platform;
using Xunit.Abstractions;

namespace HyperSharp.Web.Tests;

/// <summary>
/// `hyper host --web` as people run it (the built hyper.dll as its own process): it prints the login address, which
/// opens the console; without --tls-dir a non-loopback address is refused before the host starts, naming --web.
/// </summary>
public class HostCommandTests(ITestOutputHelper output)
{
    [Fact]
    public async Task HyperHostWebPrintsALoginAddressThatOpensTheConsole()
    {
        string root = Path.Combine("/tmp", "hs-webcli-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        try
        {
            var refused = Run(["host", "--root", root, "--socket", Path.Combine(root, "h.sock"), "--web", "0.0.0.0:8080"], out var refusedLog);
            Assert.True(refused.WaitForExit(60_000), "hyper host with a refused --web did not exit");
            refused.WaitForExit(); // and its output read to the end
            Assert.NotEqual(0, refused.ExitCode);
            refused.Dispose();
            Assert.Contains("--web 0.0.0.0:8080", refusedLog.ToString());
            Assert.Contains("--tls-dir", refusedLog.ToString());

            var printed = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var host = Run(["host", "--root", root, "--socket", Path.Combine(root, "h.sock"), "--web", "127.0.0.1:0"], out var log,
                line => { if (Regex.Match(line, @"log in with (\S+)") is { Success: true } m) printed.TrySetResult(new Uri(m.Groups[1].Value)); });
            try
            {
                var login = await printed.Task.WaitAsync(TimeSpan.FromSeconds(60));
                output.WriteLine($"printed: {login}");
                Assert.Equal(File.ReadAllText(Path.Combine(root, Access.AccessToken.FileName)).Trim(), Regex.Match(login.Query, "token=([0-9a-f]+)").Groups[1].Value);
                using var client = new HttpClient();
                var home = await client.GetAsync(login); // redirected home with the cookie set
                Assert.Equal(HttpStatusCode.OK, home.StatusCode);
                Assert.Contains("<table id=\"vms\"", await home.Content.ReadAsStringAsync());
            }
            finally
            {
                Posix.Signal(host.Id, 15); // SIGTERM: the console stops, then the host
                Assert.True(host.WaitForExit(60_000), $"hyper host did not stop on SIGTERM: {log}");
            }
            Assert.Equal(0, host.ExitCode);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    private Process Run(string[] arguments, out StringBuilder log, Action<string>? onLine = null) => HyperProcess.Start(output, [], arguments, out log, onLine);
}
