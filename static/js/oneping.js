// Small progressive enhancements; every page works without them.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  const text = source.value !== undefined ? source.value : source.textContent;
  navigator.clipboard.writeText(text.trim()).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

document.addEventListener("change", (event) => {
  const select = event.target.closest("[data-switch-account]");
  if (!select) return;
  select.form.submit();
});

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

document.addEventListener("change", (event) => {
  if (event.target.matches("[data-select-all]")) {
    const form = event.target.form;
    form.querySelectorAll("input[name=" + event.target.dataset.selectAll + "]").forEach((box) => {
      box.checked = event.target.checked;
    });
  }
});

// A form with a provider choice (the email channel's) shows only the chosen provider's
// fields: inputs marked data-provider="smtp postmark" belong to those providers.
function showProviderFields(select) {
  select.form.querySelectorAll("[data-provider]").forEach((input) => {
    const field = input.closest(".field");
    if (field) field.hidden = !input.dataset.provider.split(" ").includes(select.value);
  });
}

document.addEventListener("change", (event) => {
  if (event.target.matches("[data-provider-select]")) showProviderFields(event.target);
});

document.querySelectorAll("[data-provider-select]").forEach(showProviderFields);
