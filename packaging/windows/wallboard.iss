; Inno Setup 6 script: the Windows installer (docs/packaging.md). Built by .github/workflows/release.yml:
;   pyinstaller packaging/wallboard.spec  ->  dist\wallboard\ (wallboard.exe: CLI, wallboardw.exe: no console)
;   ISCC /DAppVersion=0.1.0 packaging\windows\wallboard.iss  ->  dist\wallboard-0.1.0-setup.exe
; Not built or run on the Linux development machine: only in CI on windows-latest.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define Root "..\.."

[Setup]
AppId={{6E0C3F0A-7A51-4C0B-9C55-2F1B0E7A1D11}
AppName=Wallboard
AppVersion={#AppVersion}
AppPublisher=Wallboard maintainers
DefaultDirName={autopf}\Wallboard
DefaultGroupName=Wallboard
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Root}\dist
OutputBaseFilename=wallboard-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\wallboardw.exe
ChangesEnvironment=no

[Tasks]
; Off by default: only kiosk PCs should start the board at login (for every user of the PC).
Name: "autostart"; Description: "Start the wallboard full screen when anyone logs in (kiosk wall PC)"; Flags: unchecked
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; Flags: unchecked

[Files]
Source: "{#Root}\dist\wallboard\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion
; The site-wide configuration folder is platformdirs.site_config_dir("wallboard") = C:\ProgramData\wallboard.
; The example is copied there once and never overwritten or removed: it is the site's file after that.
Source: "{#Root}\resources\wallboard.example.toml"; DestDir: "{commonappdata}\wallboard"; Flags: onlyifdoesntexist uninsneveruninstall

[Dirs]
Name: "{commonappdata}\wallboard"

[Icons]
Name: "{group}\Wallboard"; Filename: "{app}\wallboardw.exe"; Parameters: "run"; WorkingDir: "{app}"
Name: "{group}\Wallboard demo"; Filename: "{app}\wallboardw.exe"; Parameters: "demo"; WorkingDir: "{app}"
Name: "{group}\Wallboard configuration folder"; Filename: "{commonappdata}\wallboard"
Name: "{autodesktop}\Wallboard"; Filename: "{app}\wallboardw.exe"; Parameters: "run"; Tasks: desktopicon
Name: "{commonstartup}\Wallboard (kiosk)"; Filename: "{app}\wallboardw.exe"; Parameters: "run --kiosk"; Tasks: autostart

[Run]
Filename: "{app}\wallboardw.exe"; Parameters: "demo"; Description: "Show the demo board now"; Flags: postinstall nowait skipifsilent unchecked
