namespace HyperSharp.PowerShell;

/// <summary>
/// A cmdlet's help text, kept beside its code. The module's MAML file (HyperSharp.dll-Help.xml, what
/// Get-Help reads) is generated from these attributes and the parameters' HelpMessage; a test checks
/// that the committed file matches.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class CmdletHelpAttribute(string synopsis, string description) : Attribute
{
    public string Synopsis { get; } = synopsis;
    public string Description { get; } = description;
}

/// <summary>One example for Get-Help -Examples: the command, and what it does.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class CmdletExampleAttribute(string code, string remarks) : Attribute
{
    public string Code { get; } = code;
    public string Remarks { get; } = remarks;
}
