using HyperSharp.Guest.Linux;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest;

/// <summary>
/// `hs-agent runas USER -- COMMAND ARGS…`: what the exec service starts for a command that is to run as a guest account
/// (PowerShell Direct -Credential). In its own process, so the agent never changes its own identity and a slow password
/// hash does not hold up the session: checks the password (from the environment variable <see cref="PasswordVariable"/>,
/// which only root can read in /proc, never on a command line) against /etc/shadow, takes the account's groups, group
/// and user, sets HOME/USER/LOGNAME/SHELL, and execs the command. Refused credentials exit
/// <see cref="ExecExitCodes.CredentialsRefused"/> with the reason on stderr.
/// </summary>
internal static class RunAs
{
    public const string PasswordVariable = "HS_AGENT_PASSWORD";

    public static int Run(string[] args)
    {
        if (args.Length < 3 || args[1] != "--")
        {
            Console.Error.WriteLine("usage: hs-agent runas USER -- COMMAND [ARGS...] (the password in $" + PasswordVariable + ")");
            return 2;
        }
        string user = args[0];
        string password = Environment.GetEnvironmentVariable(PasswordVariable) ?? "";
        Environment.SetEnvironmentVariable(PasswordVariable, null);
        string? refused;
        try { refused = GuestAccounts.Check(user, password); }
        catch (IOException e) { refused = e.Message; }
        var account = GuestAccounts.Find(user);
        if (refused is not null || account is null)
        {
            Console.Error.WriteLine($"the guest refused the credentials for '{user}': {refused ?? GuestAccounts.WrongCredentials}");
            return ExecExitCodes.CredentialsRefused;
        }
        // Groups first, then the group, then the user: after setuid nothing else may change.
        if (Libc.initgroups(user, account.Gid) != 0 || Libc.setgid(account.Gid) != 0 || Libc.setuid(account.Uid) != 0
            || Libc.getuid() != account.Uid || Libc.geteuid() != account.Uid)
        {
            Console.Error.WriteLine($"cannot become '{user}' (uid {account.Uid}, gid {account.Gid}): {Libc.LastError()}");
            return ExecExitCodes.CredentialsRefused;
        }
        Environment.SetEnvironmentVariable("HOME", account.Home);
        Environment.SetEnvironmentVariable("USER", user);
        Environment.SetEnvironmentVariable("LOGNAME", user);
        Environment.SetEnvironmentVariable("SHELL", account.Shell);
        try { Directory.SetCurrentDirectory(account.Home); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Directory.SetCurrentDirectory("/"); }
        string command = args[2];
        string? path = command.Contains('/') ? command : (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Select(dir => Path.Combine(dir.Length > 0 ? dir : ".", command)).FirstOrDefault(File.Exists);
        if (path is null)
        {
            Console.Error.WriteLine($"{command}: not found");
            return 127;
        }
        // .NET keeps its own copy of the environment: the new process gets it explicitly (without the password).
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().Select(e => $"{e.Key}={e.Value}");
        Libc.execve(path, [.. args[2..], null], [.. environment, null]);
        Console.Error.WriteLine($"cannot run {path}: {Libc.LastError()}");
        return 126;
    }
}
